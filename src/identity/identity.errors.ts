import { RaceLostError } from '../database/retries';

/**
 * Another request changed the identities or profiles a write was planned against (created the
 * same new identifier, merged or erased a profile it attaches to). Nothing was written; running the
 * request again resolves against the new state.
 */
export class IdentityConflictError extends RaceLostError {
  constructor(reason: string) {
    super(`identity conflict: ${reason}`);
  }
}
