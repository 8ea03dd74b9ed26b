export { isPlayable } from '@tapo/segment-lifecycle';
