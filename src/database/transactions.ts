import { Injectable } from '@nestjs/common';

import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/** A transaction handle that repositories accept so one unit of work can span several of them. */
export type Tx = Prisma.TransactionClient;

/** Opens transactions for services whose unit of work spans several repositories. */
@Injectable()
export class TransactionRunner {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `work` in one READ COMMITTED transaction. */
  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { maxWait: 10_000, timeout: 30_000 });
  }
}
