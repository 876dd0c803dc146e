// blinky: rotates a lit LED around the iCEstick's five LEDs, about twice a
// second from the board's 12 MHz clock.
module blinky (
    input  wire       clk,
    output wire [4:0] led
);
    reg [23:0] counter = 0;
    always @(posedge clk)
        counter <= counter + 1;

    reg [4:0] ring = 5'b00001;
    always @(posedge clk)
        if (&counter)
            ring <= {ring[3:0], ring[4]};

    assign led = ring;
endmodule
