import { createWorkspace, startTestApp, TestApp, WorkspaceCredentials } from '../../support/app';
import { destinationsApi } from './api';
import { Seed } from './seed';

/** Something a test started before the app and stops after it (an SMTP server, a private Redis). */
export type Stop = () => Promise<void>;

/**
 * What every destinations test starts from: an app, a workspace with its API, and the seed
 * helpers on the app's database. `close` stops them, then whatever the test started for the app.
 */
export class Testbed {
  private constructor(
    readonly app: TestApp,
    readonly seed: Seed,
    readonly ws: WorkspaceCredentials,
    readonly api: ReturnType<typeof destinationsApi>,
    private readonly stops: Stop[],
  ) {}

  static async start(env: Record<string, string> = {}, stops: Stop[] = []): Promise<Testbed> {
    const app = await startTestApp(env);
    const seed = await Seed.connect(app.database.url, app);
    const ws = await createWorkspace(app);
    return new Testbed(app, seed, ws, destinationsApi(app, ws.apiToken), stops);
  }

  async close(): Promise<void> {
    await this.seed.close();
    await this.app.close();
    for (const stop of this.stops) await stop();
  }
}
