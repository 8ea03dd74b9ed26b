import type { Mp4Classification } from '@tapo/mp4';

/** Kinds of file that play as they are (everything else goes to the verify/repair chain). */
export function isPlayable(kind: Mp4Classification['kind']): boolean {
  return kind === 'clean' || kind === 'fragmented-clean';
}
