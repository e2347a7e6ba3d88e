import { startRun } from './global-setup';

/** The e2e project's global setup: DynamoDB Local (`npm start` starts its own; the bench smoke and the operator page use the run's). */
export default (): Promise<void> => startRun({ template: false });
