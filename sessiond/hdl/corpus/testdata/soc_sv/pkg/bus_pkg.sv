// bus_pkg.sv - types and constants of the simple on-chip bus.

// Shared definitions for every bus master and slave.
package bus_pkg;

    // Address width of the bus in bits.
    parameter int unsigned ADDR_W = 16;
    // Data width of the bus in bits.
    parameter int unsigned DATA_W = 32;
    // Number of register-file slaves behind the arbiter.
    parameter int unsigned NUM_REGS = 8;

    // Address of one byte on the bus.
    typedef logic [ADDR_W-1:0] addr_t;
    // One data word on the bus.
    typedef logic [DATA_W-1:0] data_t;

    // Kind of a bus transfer.
    typedef enum logic [1:0] {
        OP_IDLE  = 2'b00,  // no transfer
        OP_READ  = 2'b01,  // read a word
        OP_WRITE = 2'b10   // write a word
    } op_e;

    // One request from a master.
    typedef struct packed {
        op_e   op;    // what to do
        addr_t addr;  // byte address
        data_t wdata; // write data, ignored for reads
    } req_t;

    // Response to a request.
    typedef struct packed {
        logic  ready; // request accepted this cycle
        logic  err;   // address decoded to nothing
        data_t rdata; // read data
    } rsp_t;

    // Word index of a byte address (drops the byte-lane bits).
    function automatic addr_t word_index(input addr_t addr);
        return addr >> 2;
    endfunction

endpackage : bus_pkg
