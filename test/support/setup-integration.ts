import { startRun } from './global-setup';

/** The integration project's global setup: DynamoDB Local and the shared default template. */
export default (): Promise<void> => startRun({ template: true });
