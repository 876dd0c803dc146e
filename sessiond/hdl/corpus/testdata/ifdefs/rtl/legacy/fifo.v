// legacy/fifo.v - the FIFO of the first board revision, kept for reference.
// It declares the same module name as rtl/fifo.v; .ide/hdl.toml excludes
// rtl/legacy/** so the two never meet in one compilation.

// Old FIFO: fixed 4 words, no full/empty outputs.
module fifo (
    // Clock.
    input  wire       clk,
    // Write strobe.
    input  wire       wr,
    // Data to write.
    input  wire [7:0] wdata,
    // Oldest word written.
    output wire [7:0] rdata
);

    // Four-word shift register.
    reg [7:0] sr [0:3];

    always @(posedge clk) begin
        if (wr) begin
            sr[3] <= sr[2];
            sr[2] <= sr[1];
            sr[1] <= sr[0];
            sr[0] <= wdata;
        end
    end

    assign rdata = sr[3];

endmodule
