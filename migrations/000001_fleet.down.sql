DROP TABLE node_events;
DROP TABLE nodes;
