import { killChildren } from './processes';
import { scaled } from './time-scale';

// Deadlines stretch with the load of the machine (see time-scale.ts); tests assert behaviour, not speed.
jest.setTimeout(scaled(60_000));

// A test that failed or timed out may not have stopped what it started; the file's processes end here.
afterAll(async () => {
  await killChildren();
});
