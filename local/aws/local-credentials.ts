/** The region and dummy credentials every local AWS endpoint and client uses. */

/** Region of every local client and ARN. */
export const LOCAL_REGION = 'us-east-1';

/** Credentials the local endpoints accept (they check no signature). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
