import { SlotWaitAbortedError, SlotWaitTimeoutError, WorkspaceSlots } from './workspace-slots';

describe('WorkspaceSlots', () => {
  it('lets each key hold at most its share, whatever the other keys hold', async () => {
    const slots = new WorkspaceSlots(2);
    await slots.acquire('a', 1_000);
    await slots.acquire('a', 1_000);
    await slots.acquire('b', 1_000);
    expect(slots.held('a')).toBe(2);
    expect(slots.held('b')).toBe(1);
    await expect(slots.acquire('a', 20)).rejects.toBeInstanceOf(SlotWaitTimeoutError);
    expect(slots.held('a')).toBe(2);
  });

  it('hands a released slot to the longest waiter', async () => {
    const slots = new WorkspaceSlots(1);
    const release = await slots.acquire('a', 1_000);
    const order: string[] = [];
    const first = slots.acquire('a', 1_000).then((r) => {
      order.push('first');
      return r;
    });
    const second = slots.acquire('a', 1_000).then((r) => {
      order.push('second');
      return r;
    });
    release();
    (await first)();
    (await second)();
    expect(order).toEqual(['first', 'second']);
    expect(slots.held('a')).toBe(0);
  });

  it('drops a waiter whose request is aborted, and never double-releases', async () => {
    const slots = new WorkspaceSlots(1);
    const release = await slots.acquire('a', 1_000);
    const controller = new AbortController();
    const waiting = slots.acquire('a', 1_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(SlotWaitAbortedError);
    release();
    release();
    expect(slots.held('a')).toBe(0);
    const again = await slots.acquire('a', 1_000);
    expect(slots.held('a')).toBe(1);
    again();
  });

  it('refuses at once a request that is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(new WorkspaceSlots(1).acquire('a', 1_000, controller.signal)).rejects.toBeInstanceOf(
      SlotWaitAbortedError,
    );
  });
});
