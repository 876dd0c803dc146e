// outside.vh lives outside the workspace root (testdata/broken).
wire bad_decl bad_decl;
