// fifo.v - synchronous FIFO with first-word fall-through.
`include "chip_cfg.vh"

// Synchronous FIFO of DEPTH words (a power of two).
module fifo #(
    // Word width.
    parameter integer W     = `DATA_W,
    // Number of words.
    parameter integer DEPTH = `DEPTH
) (
    // Clock.
    input  wire         clk,
    // Synchronous active-high reset.
    input  wire         rst,
    // Write strobe; ignored when full.
    input  wire         wr,
    // Data to write.
    input  wire [W-1:0] wdata,
    // Read strobe; ignored when empty.
    input  wire         rd,
    // Word at the head of the FIFO.
    output wire [W-1:0] rdata,
    // No room for another word.
    output wire         full,
    // No word to read.
    output wire         empty
);

    // Pointer width; one extra bit tells full from empty.
    localparam integer AW = $clog2(DEPTH);

    // Storage.
    reg [W-1:0] mem [0:DEPTH-1];
    // Write pointer.
    reg [AW:0]  wptr;
    // Read pointer.
    reg [AW:0]  rptr;

    assign empty = (wptr == rptr);
    assign full  = (wptr[AW-1:0] == rptr[AW-1:0]) && (wptr[AW] != rptr[AW]);
    assign rdata = mem[rptr[AW-1:0]];

    always @(posedge clk) begin
        if (rst) begin
            wptr <= {(AW+1){1'b0}};
            rptr <= {(AW+1){1'b0}};
        end else begin
            if (wr && !full) begin
                mem[wptr[AW-1:0]] <= wdata;
                wptr <= wptr + 1'b1;
            end
            if (rd && !empty) begin
                rptr <= rptr + 1'b1;
            end
        end
    end

endmodule
