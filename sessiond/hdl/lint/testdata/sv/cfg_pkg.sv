package cfg_pkg;
  typedef logic [7:0] byte_t;
  localparam int DEPTH = 4;
endpackage
