import { EmailRenderResult, EmailTemplates, renderEmailTemplates, TemplateScope } from './templates';

/** What the main thread sends a render thread for one email. */
export interface RenderTask {
  templates: EmailTemplates;
  scope: TemplateScope;
  renderLimitMs: number;
  sample: boolean;
}

/** Runs in a worker thread (see TemplateRenderer): one email's templates, within the task's limits. */
export default function render(task: RenderTask): EmailRenderResult {
  return renderEmailTemplates(task.templates, task.scope, { renderLimitMs: task.renderLimitMs, sample: task.sample });
}
