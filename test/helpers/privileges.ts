// The eight TRTC privilege names in bit order, written out (not imported from src) so tests check src.
export const ALL_PRIVILEGES = [
  'createRoom',
  'enterRoom',
  'sendAudio',
  'receiveAudio',
  'sendVideo',
  'receiveVideo',
  'sendSubStream',
  'receiveSubStream',
]
