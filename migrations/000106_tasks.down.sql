DROP TABLE task_logs;
DROP TABLE task_events;
DROP TABLE tasks;
