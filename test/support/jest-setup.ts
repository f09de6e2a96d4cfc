import { killChildren } from './processes';

// A test that failed or timed out may not have stopped what it started; the file's processes end here.
afterAll(async () => {
  await killChildren();
});
