import { Global, Module } from '@nestjs/common';

import { InteractiveDatabase } from '../database/interactive-database';
import { TransactionRunner } from '../database/transactions';
import { PrismaService } from './prisma.service';

@Global()
@Module({
  providers: [PrismaService, TransactionRunner, InteractiveDatabase],
  exports: [PrismaService, TransactionRunner, InteractiveDatabase],
})
export class PrismaModule {}
