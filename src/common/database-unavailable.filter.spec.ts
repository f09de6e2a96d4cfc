import { Prisma } from '../generated/prisma/client';
import { isDatabaseUnavailable } from './database-unavailable.filter';

describe('isDatabaseUnavailable', () => {
  const prismaError = (code: string, message: string) =>
    new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: '7' });

  it('counts a transaction that could not start or finish in time as unavailable (503, retry)', () => {
    expect(
      isDatabaseUnavailable(
        prismaError('P2028', 'Transaction API error: Unable to start a transaction in the given time.'),
      ),
    ).toBe(true);
    expect(
      isDatabaseUnavailable(
        prismaError('P2028', 'Transaction API error: A commit cannot be executed on an expired transaction.'),
      ),
    ).toBe(true);
  });

  it('counts lost connections and too many clients, and nothing that is a wrong query', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isDatabaseUnavailable(Object.assign(new Error('too many clients already'), { code: '53300' }))).toBe(true);
    expect(isDatabaseUnavailable(prismaError('P2002', 'Unique constraint failed'))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  });
});
