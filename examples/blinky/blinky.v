// Blink the iCEstick's LEDs from its 12 MHz clock.
module top (
    input  wire clk,
    output wire [4:0] led
);
    reg [23:0] counter = 0;
    always @(posedge clk)
        counter <= counter + 1;
    assign led = counter[23:19];
endmodule
