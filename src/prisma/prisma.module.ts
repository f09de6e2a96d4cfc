import { Global, Module } from '@nestjs/common';
import { TransactionRunner } from '../database/transactions';
import { PrismaService } from './prisma.service';

@Global()
@Module({ providers: [PrismaService, TransactionRunner], exports: [PrismaService, TransactionRunner] })
export class PrismaModule {}
