/** A configuration problem, with where it is: file, camera and field. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly cameraId?: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
