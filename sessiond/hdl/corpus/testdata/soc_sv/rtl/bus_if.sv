// bus_if.sv - the bus as an interface, one per master/slave link.

// A request/response link between one master and one slave.
interface bus_if;
    // Request from the master.
    bus_pkg::req_t req;
    // Response from the slave.
    bus_pkg::rsp_t rsp;

    // Master side: drives requests, reads responses.
    modport master (output req, input rsp);
    // Slave side: reads requests, drives responses.
    modport slave (input req, output rsp);
endinterface : bus_if
