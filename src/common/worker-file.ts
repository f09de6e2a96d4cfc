import { extname, join } from 'node:path';

/**
 * Where a worker thread's module is, next to the module that starts it: `dist/…/name.worker.js` in
 * a build, `src/…/name.worker.ts` under ts-node-style runners (tests, `npm run dev`), which the
 * thread must then load through the same register hook.
 */
export function workerFile(caller: string, name: string): { filename: string; execArgv: string[] } {
  const extension = extname(caller);
  return {
    filename: join(caller, '..', `${name}${extension}`),
    execArgv: extension === '.ts' ? ['--require', '@swc-node/register'] : [],
  };
}
