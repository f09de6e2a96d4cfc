/** A problem with one field of a request: `{"field": "steps[1].event", "reason": "must be a string"}`. */
export interface FieldProblem {
  field: string;
  reason: string;
}

/**
 * The one way problems read in a message, everywhere: `steps[1].event: must be a string; to: must be
 * after from`. The colon keeps a field apart from a reason that starts with a word of its own.
 */
export function describeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
}

export interface ProblemBody {
  statusCode: number;
  error: string;
  message: string;
  errors: FieldProblem[];
}

/** The JSON body of an error about fields of a request: `{statusCode, error, message, errors}`. */
export function problemBody(statusCode: number, error: string, problems: FieldProblem[]): ProblemBody {
  return { statusCode, error, message: describeProblems(problems), errors: problems };
}
