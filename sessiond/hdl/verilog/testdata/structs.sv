// Packed/unpacked arrays, part-selects, replication.
module structs #(parameter int DEPTH = 16) (
    input  logic        clk,
    input  logic [31:0] din,
    input  logic [$clog2(DEPTH)-1:0] addr,
    output logic [31:0] dout,
    output logic [7:0]  b1
);
    typedef struct packed {
        logic [7:0]  hdr;
        logic [23:0] body;
    } pkt_t;

    pkt_t mem [DEPTH];
    pkt_t cur;
    logic [3:0][7:0] bytes;
    logic [7:0] lut [0:3] = '{8'h00, 8'h11, 8'h22, 8'h33};
    localparam pkt_t RESET = '{hdr: 8'hA5, body: '0};
    localparam int BITS = $bits(pkt_t);

    always_ff @(posedge clk) begin
        mem[addr] <= din;
        cur <= mem[addr];
    end

    assign bytes = cur;
    assign dout = {bytes[0], bytes[1], bytes[2], bytes[3]};
    assign b1 = din[8 +: 8] ^ din[31 -: 8] ^ {2{cur.hdr[3:0]}} ^ lut[addr[1:0]] ^ RESET.hdr ^ 8'(BITS);
endmodule
