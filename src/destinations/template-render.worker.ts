import { EmailRenderResult, EmailTemplates, renderEmailTemplates, TemplateScope } from './templates';

/** What the main thread sends a render thread: the emails rendered in one turn of its event loop. */
export interface RenderTask {
  emails: { templates: EmailTemplates; scope: TemplateScope }[];
  /** Per email. */
  renderLimitMs: number;
  sample: boolean;
}

/**
 * Runs in a worker thread (see TemplateRenderer): each email's templates within the limits, one
 * after the other. One message per batch, not per email: crossing threads costs more than a render.
 */
export default function render(task: RenderTask): EmailRenderResult[] {
  const limits = { renderLimitMs: task.renderLimitMs, sample: task.sample };
  return task.emails.map(({ templates, scope }) => renderEmailTemplates(templates, scope, limits));
}
