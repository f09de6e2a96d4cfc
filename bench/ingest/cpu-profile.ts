import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

function post<T>(session: Session, method: string): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/**
 * Profiles this process (the server under test) for one phase of the benchmark only, so that
 * start-up, the COPY baseline and module loading do not dilute the picture. Open the file in
 * Chrome DevTools or speedscope.
 */
export async function startCpuProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.start');
  return {
    async stop(file: string): Promise<void> {
      const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
