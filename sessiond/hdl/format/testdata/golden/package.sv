// SystemVerilog package: typedefs, parameters, functions
package bus_pkg;
parameter int ADDR_W = 32;
    localparam int DATA_W = 64;
typedef enum logic [1:0] {
IDLE,
  BUSY,
       DONE
} state_e;
typedef struct packed {
logic [ADDR_W-1:0] addr;
  logic [DATA_W-1:0] data;
logic valid;
} req_t;

function automatic int unsigned clog2(input int unsigned v);
int unsigned r = 0;
while ((1 << r) < v)
r++;
return r;
endfunction

  function automatic logic parity(
  input logic [DATA_W-1:0] d,
 input bit odd = 1'b0
  );
return ^d ^ odd;
endfunction : parity
endpackage : bus_pkg
