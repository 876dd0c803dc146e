// Testbench classes with UVM-style macros (parse-only check).
`define uvm_object_utils(T) \
    typedef T this_type; \
    static function string type_name(); return `"T`"; endfunction
`define uvm_info(ID, MSG, VERB) \
    begin \
        if (VERB <= 100) $display("[%s] %s", ID, MSG); \
    end
`define UVM_LOW 100

typedef class driver;

// A transaction.
class packet;
    rand bit [7:0] addr;
    rand bit [7:0] data;
    randc bit [1:0] kind;
    static int count = 0;
    protected int id;
    local string tag;

    constraint c_addr { addr inside {[8'h10:8'h1F]}; data != 0; }
    constraint c_kind { kind dist { 0 := 1, [1:3] :/ 3 }; }

    `uvm_object_utils(packet)

    function new(string name = "packet");
        id = count++;
        tag = name;
    endfunction

    virtual function void print();
        `uvm_info("PKT", $sformatf("addr=%0h data=%0h", addr, data), `UVM_LOW)
    endfunction

    extern function int get_id();
    pure virtual function void hook();
endclass

function int packet::get_id();
    return id;
endfunction

class burst #(type T = packet, int N = 4) extends packet;
    T items[$];
    T arr[N];
    int map[string];
    mailbox #(T) mb;

    function new(string name = "burst");
        super.new(name);
        mb = new();
    endfunction

    virtual function void hook();
    endfunction

    task run();
        T p;
        fork
            begin
                p = new();
                if (!p.randomize() with { addr == 8'h11; }) $error("randomize failed");
                items.push_back(p);
            end
            #5;
        join_none
        foreach (items[i]) begin
            items[i].print();
        end
        wait fork;
    endtask
endclass

class driver;
    virtual axi_if vif;
    covergroup cg @(posedge vif.clk);
        coverpoint vif.valid;
    endgroup
    function new();
        cg = new();
    endfunction
endclass

interface axi_if (input logic clk);
    logic valid;
    clocking cb @(posedge clk);
        input valid;
    endclocking
endinterface

program automatic test (input logic clk);
    burst #(packet, 2) b;
    initial begin
        b = new("b");
        b.run();
        repeat (3) @(posedge clk);
        $finish;
    end
endprogram
