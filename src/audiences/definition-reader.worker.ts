import type { SubjectLevel } from './language/audience-ast';
import { AudienceDefinitionResult, readAudienceDefinition } from './language/audience-definition';

/** What the main thread sends a reader thread: one definition's text and the field it came in. */
export interface ReadTask {
  text: string;
  field: string;
  level: SubjectLevel;
}

/** Runs in a worker thread (see DefinitionReader): parses and validates one definition. */
export default function read(task: ReadTask): AudienceDefinitionResult {
  return readAudienceDefinition(task.text, task.field, task.level);
}
