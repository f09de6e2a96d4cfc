import { SendGate } from './send-gate';

/** A send the test finishes by hand. */
function deferred(): { promise: Promise<string>; resolve: (value: string) => void } {
  let resolve!: (value: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SendGate', () => {
  it('runs at most its slots at once, the rest in arrival order, asking ready only once a slot is theirs', async () => {
    const gate = new SendGate(2);
    const sends = [deferred(), deferred(), deferred(), deferred()];
    const log: string[] = [];
    const results = sends.map((send, i) =>
      gate.run(
        () => {
          log.push(`ready ${i}`);
          return true;
        },
        () => {
          log.push(`send ${i}`);
          return send.promise;
        },
        () => 'refused',
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect([...log].sort()).toEqual(['ready 0', 'ready 1', 'send 0', 'send 1']);
    sends[1]!.resolve('b');
    await results[1];
    await new Promise((resolve) => setImmediate(resolve));
    // The freed slot went to the first in line, and to it alone.
    expect(log.slice(4)).toEqual(['ready 2', 'send 2']);
    sends[0]!.resolve('a');
    sends[2]!.resolve('c');
    sends[3]!.resolve('d');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not send what ready refuses, and frees the slot after a refusal or a failure', async () => {
    const gate = new SendGate(1);
    const sent: number[] = [];
    const refused = gate.run(
      () => Promise.resolve(false),
      async () => {
        sent.push(1);
        return 'sent';
      },
      () => 'refused',
    );
    const failed = gate.run(
      () => true,
      () => Promise.reject(new Error('boom')),
      () => 'refused',
    );
    const last = gate.run(
      () => true,
      async () => {
        sent.push(3);
        return 'sent';
      },
      () => 'refused',
    );
    expect(await refused).toBe('refused');
    await expect(failed).rejects.toThrow('boom');
    expect(await last).toBe('sent');
    expect(sent).toEqual([3]);
  });
});
