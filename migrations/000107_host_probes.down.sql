DROP TABLE host_probe_audit;
