DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS pool_containers;
