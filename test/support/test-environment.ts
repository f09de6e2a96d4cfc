import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

import { TimeoutStretcher } from './time-scale';

/**
 * Jest's Node environment, with every test and hook timeout (the default and those given to `it`,
 * `beforeAll`…) stretched by the machine's load when it starts (see time-scale.ts). A timeout only
 * turns a hang into a failure; on a machine shared with other work, a slow test is not a hung one.
 */
export default class PersonaeTestEnvironment extends TestEnvironment {
  private readonly stretcher = new TimeoutStretcher();

  handleTestEvent(event: Circus.Event, state: Circus.State): void {
    if (event.name === 'hook_start') this.stretcher.stretch(event.hook, state.testTimeout);
    if (event.name === 'test_fn_start') this.stretcher.stretch(event.test, state.testTimeout);
  }
}
