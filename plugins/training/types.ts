/** Records of the training plugin, in the Model Training Manager's own (snake_case) shape. */

export const trainingTypes = ['qlora', 'standard', 'rag', 'unsloth'] as const;
export type TrainingType = (typeof trainingTypes)[number];

export const jobStatuses = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TrainingJobStatus = (typeof jobStatuses)[number];

export const projectStatuses = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ProjectStatus = (typeof projectStatuses)[number];

export const traitTypes = ['reasoning', 'coding', 'general_tools'] as const;
export type TraitType = (typeof traitTypes)[number];

export const workerStatuses = ['idle', 'busy', 'stopped', 'error'] as const;
export type WorkerStatus = (typeof workerStatuses)[number];

export type DatasetFileType = 'csv' | 'json' | 'jsonl';

export interface Dataset {
  id: number;
  name: string;
  description: string | null;
  filename: string;
  file_path: string;
  file_type: DatasetFileType;
  file_size: number;
  row_count: number;
  column_count: number;
  /** JSON-encoded array of column names, as the real project stores it. */
  columns: string;
  created_at: string;
  updated_at: string;
}

export interface Hyperparameters {
  batch_size: number;
  learning_rate: number;
  epochs: number;
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
}

export interface TrainingJob extends Hyperparameters {
  /** `job-<n>`: never the same as a project's `project-<n>`. */
  id: string;
  name: string;
  description: string | null;
  status: TrainingJobStatus;
  training_type: TrainingType;
  model_name: string;
  dataset_id: number | null;
  /** The project this job trains, when a project started it. */
  project_id: string | null;
  progress: number;
  current_epoch: number;
  current_loss: number | null;
  error_message: string | null;
  log: string;
  model_path: string | null;
  worker_id: string | null;
  /** The core job (`tr-…`) running the trainer process. */
  core_job_id: string | null;
  /** The Unix socket the trainer connects to. */
  socket_path: string | null;
  gpus: number[];
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface TraitDataset {
  dataset_id: number;
  percentage: number;
}

export interface ProjectTrait {
  id: number;
  trait_type: TraitType;
  datasets: TraitDataset[];
}

export interface Project {
  /** `project-<n>`. */
  id: string;
  name: string;
  description: string | null;
  base_model: string;
  model_type: string | null;
  training_type: TrainingType;
  max_rows: number | null;
  output_directory: string;
  status: ProjectStatus;
  progress: number;
  current_epoch: number;
  current_loss: number | null;
  error_message: string | null;
  model_path: string | null;
  worker_id: string | null;
  /** The training job of the latest start. */
  job_id: string | null;
  traits: ProjectTrait[];
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface TrainingConfigRecord {
  id: 1;
  max_concurrent_workers: number;
  default_model: string;
  default_training_type: TrainingType;
  default_batch_size: number;
  default_learning_rate: number;
  default_epochs: number;
  default_lora_r: number;
  default_lora_alpha: number;
  default_lora_dropout: number;
  auto_start_workers: boolean;
  created_at: string;
  updated_at: string;
}

export interface WorkerSlot {
  /** `worker-<8 hex>`. */
  id: string;
  status: WorkerStatus;
  current_job_id: string | null;
  jobs_completed: number;
  /** GPU indices leased to its current job. */
  gpus: number[];
  started_at: string;
  last_activity: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
  pages: number;
}
