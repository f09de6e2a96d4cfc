import { Module } from '@nestjs/common';

import { AddressPolicy } from './address-policy';
import { TemplateRenderer } from './template-renderer';

/** What the destinations API and the delivery workers share: one address policy, one pool of render threads. */
@Module({ providers: [AddressPolicy, TemplateRenderer], exports: [AddressPolicy, TemplateRenderer] })
export class DestinationsCoreModule {}
