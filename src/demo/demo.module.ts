import { Module } from '@nestjs/common';

import { DemoService } from './demo.service';
import { DemoSeedRepository } from './demo-seed.repository';

/** The quick start's Demo workspace (`PERSONAE_DEMO=1`, API role): seeded once, printed at every start. */
@Module({ providers: [DemoService, DemoSeedRepository], exports: [DemoService] })
export class DemoModule {}
