import { Module } from '@nestjs/common';

import { AdminTokenGuard } from '../auth/admin-token.guard';
import { WorkspacesController } from './workspaces.controller';

@Module({ controllers: [WorkspacesController], providers: [AdminTokenGuard] })
export class WorkspacesModule {}
