import { wilsonInterval } from './journey-statistics';

describe('journey statistics', () => {
  it('gives the textbook Wilson intervals', () => {
    // 2 of 10: 0.0567–0.5098 (Wilson 1927, as in Newcombe 1998, table I).
    expect(wilsonInterval(2, 10)).toEqual([0.0567, 0.5098]);
    expect(wilsonInterval(0, 10)).toEqual([0, 0.2775]);
    expect(wilsonInterval(10, 10)).toEqual([0.7225, 1]);
    expect(wilsonInterval(0, 0)).toEqual([0, 0]);
  });
});
