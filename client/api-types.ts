/**
 * The JSON the HTTP API answers with, where the SDK hands it over as is (docs/api.md). The server
 * builds its answers with these types, so the two cannot drift apart.
 */

/** `GET /v1/groups/{group}`: a consumer group's live members and, per partition, where it stands. */
export interface GroupDescription {
  group: string;
  /** Live members; `expiresAt` (epoch ms) is when a member that stops heartbeating is dropped. */
  members: { memberId: string; topics: string[]; expiresAt: number }[];
  partitions: {
    topic: string;
    partition: number;
    /** The member holding the partition, or null while none does. */
    owner: string | null;
    /** Raised every time the partition changes hands. */
    epoch: number;
    /** The next offset the group will read; null before its first commit. */
    committedOffset: number | null;
    highWatermark: number;
    /** highWatermark minus committedOffset (from the log start without a commit). */
    lag: number;
  }[];
}
