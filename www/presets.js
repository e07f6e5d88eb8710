// Window presets. CT presets are in Hounsfield units; `null` = the image's own window (file window, else the
// data range). `key` is the keyboard shortcut.
export const PRESETS = Object.freeze([
  { id: 'default', key: '1', label: 'Default', center: null, width: null },
  { id: 'soft', key: '2', label: 'Soft tissue', center: 40, width: 400 },
  { id: 'lung', key: '3', label: 'Lung', center: -600, width: 1500 },
  { id: 'bone', key: '4', label: 'Bone', center: 400, width: 1800 },
  { id: 'brain', key: '5', label: 'Brain', center: 40, width: 80 },
]);
