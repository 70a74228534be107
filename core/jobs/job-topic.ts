/** The pubsub topic every job status and progress change is published on (the JobRecord). */
export const jobTopic = 'core:jobs';
