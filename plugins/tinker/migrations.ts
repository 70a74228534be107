/** The SQL of the tinker tables per dialect, exactly what the entities describe (test/persistence.test.ts checks). */
export const tinkerMigrationSql: { sqlite: string[]; postgresql: string[] } = {
  sqlite: [
    "create table `tinker_checkpoints` (`path` text not null primary key, `model_id` text not null, `kind` text not null, `name` text not null, `file` text not null, `bytes` integer not null, `base_model` text not null, `lora_config` json not null, `step` integer not null, `created_at` datetime not null, `expires_at` datetime null)",
    "create index `tinker_checkpoints_model_id_index` on `tinker_checkpoints` (`model_id`)",
    "create table `tinker_futures` (`id` text not null primary key, `kind` text not null, `model_id` text null, `sampler_id` text null, `session_id` text null, `seq_id` integer null, `payload_hash` text null, `state` text not null, `result` json null, `error` text null, `category` text null, `created_at` datetime not null, `completed_at` datetime null, `delivered_at` datetime null)",
    "create index `tinker_futures_model_id_index` on `tinker_futures` (`model_id`)",
    "create table `tinker_models` (`id` text not null primary key, `session_id` text null, `model_seq_id` integer null, `base_model` text not null, `lora_config` json not null, `status` text not null, `message` text null, `user_metadata` json null, `last_seq_id` integer not null, `step` integer not null, `last_loss` double null, `parameters` integer null, `trainable_parameters` integer null, `created_at` datetime not null, `updated_at` datetime not null)",
    "create index `tinker_models_session_id_index` on `tinker_models` (`session_id`)",
    "create table `tinker_samplers` (`id` text not null primary key, `session_id` text null, `seq_id` integer null, `base_model` text not null, `model_path` text null, `source_model_id` text null, `status` text not null, `message` text null, `created_at` datetime not null)",
    "create index `tinker_samplers_session_id_index` on `tinker_samplers` (`session_id`)",
    "create table `tinker_sessions` (`id` text not null primary key, `status` text not null, `tags` json not null, `user_metadata` json null, `sdk_version` text null, `created_at` datetime not null, `last_heartbeat_at` datetime not null)"
  ],
  postgresql: [
    "create table \"tinker_checkpoints\" (\"path\" varchar(255) not null, \"model_id\" varchar(255) not null, \"kind\" varchar(255) not null, \"name\" varchar(255) not null, \"file\" text not null, \"bytes\" int not null, \"base_model\" varchar(255) not null, \"lora_config\" jsonb not null, \"step\" int not null, \"created_at\" timestamptz not null, \"expires_at\" timestamptz null, primary key (\"path\"))",
    "create index \"tinker_checkpoints_model_id_index\" on \"tinker_checkpoints\" (\"model_id\")",
    "create table \"tinker_futures\" (\"id\" varchar(255) not null, \"kind\" varchar(255) not null, \"model_id\" varchar(255) null, \"sampler_id\" varchar(255) null, \"session_id\" varchar(255) null, \"seq_id\" int null, \"payload_hash\" varchar(255) null, \"state\" varchar(255) not null, \"result\" jsonb null, \"error\" text null, \"category\" varchar(255) null, \"created_at\" timestamptz not null, \"completed_at\" timestamptz null, \"delivered_at\" timestamptz null, primary key (\"id\"))",
    "create index \"tinker_futures_model_id_index\" on \"tinker_futures\" (\"model_id\")",
    "create table \"tinker_models\" (\"id\" varchar(255) not null, \"session_id\" varchar(255) null, \"model_seq_id\" int null, \"base_model\" varchar(255) not null, \"lora_config\" jsonb not null, \"status\" varchar(255) not null, \"message\" text null, \"user_metadata\" jsonb null, \"last_seq_id\" int not null, \"step\" int not null, \"last_loss\" double precision null, \"parameters\" int null, \"trainable_parameters\" int null, \"created_at\" timestamptz not null, \"updated_at\" timestamptz not null, primary key (\"id\"))",
    "create index \"tinker_models_session_id_index\" on \"tinker_models\" (\"session_id\")",
    "create table \"tinker_samplers\" (\"id\" varchar(255) not null, \"session_id\" varchar(255) null, \"seq_id\" int null, \"base_model\" varchar(255) not null, \"model_path\" text null, \"source_model_id\" varchar(255) null, \"status\" varchar(255) not null, \"message\" text null, \"created_at\" timestamptz not null, primary key (\"id\"))",
    "create index \"tinker_samplers_session_id_index\" on \"tinker_samplers\" (\"session_id\")",
    "create table \"tinker_sessions\" (\"id\" varchar(255) not null, \"status\" varchar(255) not null, \"tags\" jsonb not null, \"user_metadata\" jsonb null, \"sdk_version\" varchar(255) null, \"created_at\" timestamptz not null, \"last_heartbeat_at\" timestamptz not null, primary key (\"id\"))"
  ],
};
