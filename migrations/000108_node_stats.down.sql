DROP TABLE node_stats;
