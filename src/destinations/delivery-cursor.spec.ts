import { decodeDeliveryCursor, encodeDeliveryCursor } from './destinations.service';

const id = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const createdAt = new Date('2026-11-27T21:00:00.123Z');

describe('delivery list cursors', () => {
  it('carry the position of the last transition listed of a transition batch', () => {
    expect(decodeDeliveryCursor(encodeDeliveryCursor({ createdAt, id, position: 417 }))).toEqual({
      createdAt,
      id,
      position: 417,
    });
  });

  it('still read a cursor issued before transition batches, as "after the whole row"', () => {
    const old = Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
    expect(decodeDeliveryCursor(old)).toEqual({ createdAt, id, position: 0 });
  });

  it.each([
    ['a position that is not a number', `${createdAt.toISOString()}|${id}|x`],
    ['a negative position', `${createdAt.toISOString()}|${id}|-1`],
    ['a fourth part', `${createdAt.toISOString()}|${id}|1|2`],
  ])('refuse %s with 400', (_, text) => {
    expect(() => decodeDeliveryCursor(Buffer.from(text).toString('base64url'))).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});
