import { z } from 'zod';

import { defineSection, SectionValues, setting, wholeNumber } from '../workspace-settings/settings-section';
import { isTimeZone } from './journey-definition';

/**
 * The `messaging` section of workspace settings, the guardrails of journeys, e.g.
 * `{"messaging": {"frequencyCap": 3, "frequencyCapWindowHours": 24, "frequencyCapMode": "wait"}}`.
 * The cap counts every message a person got (journey sends and audience syncs) in a rolling
 * window; 0 turns it off. The time zone is the workspace's, for quiet hours of people without one.
 */
export const messagingSettingsSection = defineSection({
  frequencyCap: setting(
    wholeNumber(0, 1_000).describe('Messages per person per window across journeys and audience syncs; 0 = no cap.'),
    0,
  ),
  frequencyCapWindowHours: setting(wholeNumber(1, 24 * 90).describe('The rolling window of the cap, in hours.'), 24),
  frequencyCapMode: setting(
    z
      .enum(['wait', 'skip'], { error: 'must be "wait" or "skip"' })
      .describe('A journey message over the cap waits for the next allowed moment, or is skipped.'),
    'wait',
  ),
  timezone: setting(
    z
      .string({ error: 'must be a string' })
      .refine(isTimeZone, { error: 'is not an IANA time zone' })
      .describe('Time zone for quiet hours of people whose own is not known.'),
    'UTC',
  ),
});

export type MessagingSettings = SectionValues<typeof messagingSettingsSection.fields>;
