// Shared types for the ALU.
package alu_pkg;
    parameter int DATA_W = 8;
    localparam int OPS = 4;

    // ALU operations
    typedef enum logic [1:0] {
        OP_ADD = 2'd0, // addition
        OP_SUB = 2'd1,
        OP_AND,
        OP_OR
    } op_t;

    typedef struct packed {
        op_t               op;
        logic [DATA_W-1:0] a;
        logic [DATA_W-1:0] b;
    } req_t;

    typedef union packed {
        logic [15:0] word;
        logic [1:0][7:0] bytes;
    } word_u;

    typedef logic [DATA_W-1:0] data_t;

    function automatic data_t add(input data_t x, input data_t y);
        return x + y;
    endfunction

    function automatic logic parity(data_t v);
        logic p = 1'b0;
        for (int i = 0; i < DATA_W; i++) p ^= v[i];
        return p;
    endfunction

    task automatic nop();
    endtask

    class counter_c;
        int count;
        function new();
            count = 0;
        endfunction
        function void bump();
            count++;
        endfunction
    endclass
endpackage
