import { Module } from '@nestjs/common';
import { IdentityRepository } from './identity.repository';
import { IdentityService } from './identity.service';
import { TransactionRepository } from './transaction.repository';

@Module({
  providers: [IdentityRepository, IdentityService, TransactionRepository],
  exports: [IdentityRepository, IdentityService, TransactionRepository],
})
export class IdentityModule {}
